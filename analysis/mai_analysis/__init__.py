"""Example analyses of the MAI e-services event streams, run on `mai-events` exports."""
