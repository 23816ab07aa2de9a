"""The transcript history without Qt: the SQLite store, the recorder of engine events, the
TXT/SRT/VTT exporters and the ``whisper-desktop history`` command."""
