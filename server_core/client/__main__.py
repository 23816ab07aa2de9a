import sys

from server_core.client.main import main

sys.exit(main())
