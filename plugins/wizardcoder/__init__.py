"""wizardcoder: code evolution (WizardCoder) whose answers are proven by running them in a
Docker sandbox. A plugin of evolinstruct, registered through the ``evolinstruct`` entry point."""
