"""Documents users send, read as text: what a file is (``kind``), text files in any charset (``text``), PDFs'
text layer (``pdf``), Word's .docx (``word``), and a reading cut to DOCUMENT_MAX_TOKENS (``reading``)."""
