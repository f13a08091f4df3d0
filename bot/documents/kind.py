"""What a file is, by its MIME type and its name: text the bot decodes, a PDF, a Word document, or neither."""

from __future__ import annotations

import enum

# Source code and data formats sent with a MIME type Telegram's clients often leave generic.
TEXT_EXTENSIONS = frozenset((
    "txt", "text", "md", "markdown", "rst", "adoc", "org", "tex", "csv", "tsv", "json", "jsonl", "ndjson", "yaml",
    "yml", "toml", "ini", "cfg", "conf", "env", "properties", "xml", "html", "htm", "xhtml", "svg", "log", "py",
    "pyi", "ipynb", "js", "mjs", "cjs", "jsx", "ts", "tsx", "java", "kt", "kts", "scala", "groovy", "c", "h", "cc",
    "cpp", "cxx", "hpp", "hh", "cs", "fs", "go", "rs", "rb", "php", "pl", "pm", "lua", "r", "swift", "m", "mm",
    "dart", "ex", "exs", "erl", "hs", "clj", "elm", "sh", "bash", "zsh", "fish", "ps1", "bat", "cmd", "sql",
    "graphql", "proto", "gradle", "make", "mk", "cmake", "dockerfile", "tf", "hcl", "vue", "svelte", "css", "scss",
    "sass", "less", "diff", "patch", "srt", "vtt", "bib"
))
TEXT_TYPES = frozenset({"application/json", "application/xml", "application/x-yaml", "application/yaml",
                        "application/javascript", "application/x-javascript", "application/sql", "application/toml",
                        "application/x-sh", "application/x-python", "application/x-tex", "application/ld+json",
                        "application/xhtml+xml", "application/x-subrip", "application/csv"})
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Kind(enum.Enum):
    """How a document is read."""

    TEXT = "text"
    PDF = "pdf"
    DOCX = "docx"
    UNKNOWN = "unknown"  # sniffed: read as text if it decodes as text, else refused naming its type


def kind_of(filename: str, mime_type: str | None) -> Kind:
    """The kind of a file, by its MIME type first and its extension second."""
    mime, extension = (mime_type or "").lower().split(";")[0].strip(), extension_of(filename)
    if mime == PDF_TYPE or extension == "pdf":
        return Kind.PDF
    if mime == DOCX_TYPE or extension == "docx":
        return Kind.DOCX
    if mime.startswith("text/") or mime in TEXT_TYPES or extension in TEXT_EXTENSIONS or mime.endswith(("+xml",
                                                                                                       "+json")):
        return Kind.TEXT
    return Kind.UNKNOWN


def extension_of(filename: str) -> str:
    """The lower-case extension without its dot ("" for none); a bare "Dockerfile" or "Makefile" counts as one."""
    name = filename.rsplit("/", 1)[-1].lower()
    if "." not in name.strip("."):
        return name if name in ("dockerfile", "makefile") else ""
    return name.rpartition(".")[2]


def type_name(filename: str, mime_type: str | None) -> str:
    """The type as a user would recognise it: the MIME type, else the extension, else "unknown"."""
    mime = (mime_type or "").split(";")[0].strip()
    if mime and mime != "application/octet-stream":
        return mime
    extension = extension_of(filename)
    return f".{extension}" if extension else mime or "unknown"
