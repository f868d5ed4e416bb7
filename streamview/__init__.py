"""streamview core: SSE decoding, event parsing, the assembler and the model. Never imports Textual."""

__version__ = "0.1.0"
