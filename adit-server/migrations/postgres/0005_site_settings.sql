-- Site-wide settings changed by staff in the browser: the announcement shown on the home page
-- (plain text, escaped when shown) and maintenance mode. Exactly one row, id 1, created here;
-- the server only updates it.

CREATE TABLE site_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    announcement TEXT NOT NULL DEFAULT '',
    maintenance  BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO site_settings (id) VALUES (1);
