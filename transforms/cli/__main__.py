from transforms.cli.main import main

raise SystemExit(main())
