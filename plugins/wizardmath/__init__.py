"""wizardmath: upward and downward math evolution (WizardMath) with instruction and process
rewards checked by sympy. A plugin of evolinstruct, registered through the ``evolinstruct``
entry point."""
