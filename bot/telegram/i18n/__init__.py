"""The bot's own texts in its users' languages: gettext catalogs read with Babel, applied to telegram/texts.py."""
