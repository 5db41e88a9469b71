# analysis owns no tables (DESIGN.md): it reads the other apps' models.
