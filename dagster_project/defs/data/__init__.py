"""The data domain: synthetic dataset, index, descriptions, prompts, masks; the new-dataset sensor."""
