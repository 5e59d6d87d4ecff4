from costaudit.cli.main import main

main()
