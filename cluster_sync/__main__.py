from cluster_sync.cli import main

main()
