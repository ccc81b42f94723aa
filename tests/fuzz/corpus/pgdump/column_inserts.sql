--
-- PostgreSQL database dump
--

\restrict t8cZAccOKGrAsDsT4b1iFnFVWeCcJhavfeGC828Vl7yXSpXXNIU3pNAFdodnpwG

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.events (id, tags, payload, flags, at) OVERRIDING SYSTEM VALUE VALUES
	(1, '{a,"b c","d\"e"}', '\x00ff', B'1010', '2024-01-01 00:00:00'),
	(2, NULL, NULL, NULL, NULL);


--
-- Data for Name: user; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public."user" ("ID", "select", "we""ird", "Mixed Case") VALUES
	(1, 'from', 'we"ird value', true),
	(2, NULL, '', false);
INSERT INTO public."user" ("ID", "select", "we""ird", "Mixed Case") VALUES
	(-3, 'semi;colon', 'paren)(', NULL);


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.users (id, username, email, hashed_password, is_active, totp_secret, created_at, score, big, ratio, details, note) VALUES
	(1, 'alice', 'alice@example.com', '$2b$12$KIXQJ9Jq0m1QvYb8FQm3UeY5H0f0hQv7C0p1rXo1yWm5m8s8Yc6yS', true, NULL, '2024-01-31 18:29:59.123456-03:30', 12.5, 9223372036854775807, 0.1, '{"a": "b\"c", "n": [1, 2.5, null], "u": "Zoë ☃"}', 'plain'),
	(2, 'o''brien', NULL, '$2b$12$abcdefghijklmnopqrstuv', false, 'JBSWY3DPEHPK3PXP', '2024-02-29 15:30:00-03:30', -0.005, -9223372036854775808, -1.5e+30, '[]', 'it''s a \backslash\ and a ''quote''');
INSERT INTO public.users (id, username, email, hashed_password, is_active, totp_secret, created_at, score, big, ratio, details, note) VALUES
	(3, 'multi
line', 'tab	here', '$2y$10$xyz', true, '', '2024-02-29 20:30:00.9999-03:30', 0, 0, 'NaN', NULL, 'line1
line2
line3	tabbed'),
	(4, 'unicode 😀 Ωμέγα', 'C:\path\to\file', 'x', false, NULL, '1890-06-15 04:29:08-03:30:52', NULL, 42, '-Infinity', '{"nested": {"k": "v\\w"}}', '\x00 is not a NUL here');
INSERT INTO public.users (id, username, email, hashed_password, is_active, totp_secret, created_at, score, big, ratio, details, note) VALUES
	(5, 'edge', '', 'x', true, NULL, '9999-12-31 20:29:59.999-03:30', 0.0000001, -1, 'Infinity', 'null', '-- not a comment; /* nor this */ INSERT INTO x VALUES (1);');


--
-- Name: events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.events_id_seq', 2, true);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.users_id_seq', 5, true);


--
-- PostgreSQL database dump complete
--

\unrestrict t8cZAccOKGrAsDsT4b1iFnFVWeCcJhavfeGC828Vl7yXSpXXNIU3pNAFdodnpwG

