INSERT INTO public.t (a, "B", c) VALUES ('{}'::jsonb, 'x'::character varying(10)[], -2::bigint), (NULL::text, B'1010', 1e+30) ON CONFLICT DO NOTHING;
