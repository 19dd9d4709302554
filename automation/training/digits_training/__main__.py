from digits_training.cli import main

raise SystemExit(main())
