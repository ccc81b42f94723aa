\restrict k
BEGIN;
ALTER TABLE ONLY public.users DISABLE TRIGGER ALL;
SELECT pg_catalog.setval('public."Seq"', 4242, false);
SELECT setval('s', -1);
COMMIT;
/* a /* b */ c */
\unrestrict k
