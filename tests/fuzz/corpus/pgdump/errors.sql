INSERT INTO public.events (id) OVERRIDING SYSTEM VALUE VALUES
	(1),
	(2, 'multi
line');
