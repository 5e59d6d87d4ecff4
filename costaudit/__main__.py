from costaudit.cli.main import main

if __name__ == "__main__":  # a worker process started with "spawn" imports this module too
    main()
