"""A build's shards run as tasks on a Ray cluster.

The entry point is ``ray_build.run_on_ray``; ``ray_shard`` is what one task runs and
``shard_folders`` lays out and merges the shards' folders.
"""
