"""The composition root: settings, faust app, agents, local stack, CLI. Imports every other package."""
