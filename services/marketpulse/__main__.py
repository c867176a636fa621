from marketpulse.cli import main

main()
