COPY public.users (id, name) FROM stdin;
1	x
\.
