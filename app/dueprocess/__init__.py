"""Due process (SPEC §9): notices before a black listing, objections, and the
facts they give the credit engine. Above credit in the layering."""
