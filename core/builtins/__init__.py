"""The core's built-in features: rules and algorithms that ship with evolinstruct itself."""
