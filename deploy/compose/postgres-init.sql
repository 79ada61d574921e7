-- One database per service (DESIGN.md §2: each service owns its own database and never reads
-- another's tables). Run once by the postgres image's entrypoint, as POSTGRES_USER (clientpulse),
-- on the first start with an empty data volume; `docker compose down -v` starts over.
-- The schemas themselves are created by each service's `migrate` one-shot container (Alembic).
--
-- DEVELOPMENT ONLY: every service connects as the clientpulse superuser. Production (CloudNativePG)
-- gives each service its own role owning only its own database.

CREATE DATABASE clients OWNER clientpulse;
CREATE DATABASE tiering OWNER clientpulse;
CREATE DATABASE results OWNER clientpulse;
CREATE DATABASE insights OWNER clientpulse;
CREATE DATABASE notifications OWNER clientpulse;
