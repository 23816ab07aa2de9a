"""The desktop's windows: caption overlay, tray, main window, history window, connect and
settings dialogs. They show what they are given and report through signals; no engine here."""
