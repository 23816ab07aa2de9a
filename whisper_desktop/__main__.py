import sys

from whisper_desktop.main import main

sys.exit(main())
