-- Places: the place name and time zone of every GPS position, looked up offline (an
-- analysis step after ingest; existing cases are back-filled by the same step). One row per
-- item with GPS. `lat`/`lon` are the position looked up: when an item's GPS changes (a file
-- ingested again) the row no longer matches and is looked up again.
CREATE TABLE item_places (
    item_id      INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'invalid')),  -- invalid: out of range or (0, 0)
    note         TEXT,                -- why a position is invalid, or "not inside any country"
    locality     TEXT,                -- the nearest GeoNames populated place (1,000 people or more)
    city         TEXT,                -- the nearest with 100,000 or more, when within reach (else NULL)
    city_km      REAL,
    state        TEXT,                -- the first-level division (of the city, else the locality)
    country      TEXT,                -- the country the position lies in
    country_code TEXT,                -- ISO 3166-1 alpha-2
    place_lat    REAL,                -- where the locality is, and how far the position is from it
    place_lon    REAL,
    distance_km  REAL,
    time_zone    TEXT,                -- IANA name (Etc/GMT+N at sea)
    geocoder     TEXT NOT NULL,       -- geocoders and data versions that answered
    computed_utc TEXT NOT NULL
);
CREATE INDEX item_places_country ON item_places(country_code);
CREATE INDEX item_places_city ON item_places(city);
CREATE INDEX item_places_locality ON item_places(locality);
