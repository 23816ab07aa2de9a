"""The CTranslate2 (faster-whisper) corner: the model.bin reader and the name mapping."""
