from tgahost.cli import main

main()
