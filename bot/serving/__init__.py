"""Starting the servers: one of each, the cluster, and the conversations' store."""
