"""The feedback store: corrections people give on the page, kept in PostgreSQL (in the cluster) or SQLite
(``make run``), with the schema changed only through migrations. Never on the prediction path. It depends
on no other package of this repository."""
