"""Pure aggregates: rules checked by commands, state changed by past-tense events. No I/O."""
