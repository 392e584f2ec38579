from p21_lint.cli import main

main()
