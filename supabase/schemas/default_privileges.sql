-- Default privileges the migrations set. A change ships in a hand-written migration (docs/architecture.md, "SQL kept like code").

ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON FUNCTIONS  FROM PUBLIC;
