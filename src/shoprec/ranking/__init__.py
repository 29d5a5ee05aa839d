"""From model scores to the list a shop shows: candidates, fusion, business rules, explanations."""
