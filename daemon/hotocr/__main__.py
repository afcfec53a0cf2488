from hotocr.cli import main

raise SystemExit(main())
