SET standard_conforming_strings = off;
INSERT INTO t VALUES ('a\nb', E'\x41\101\u00e9\U0001F600\uD83D\uDE00\'q\'', 'it''s');
