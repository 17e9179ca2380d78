-- Pairs of persons or clusters that the evidence cannot separate on its own: their faces
-- score as the same person, but in the band where relatives (parents, children,
-- siblings) also score (measured on Families in the Wild). Clustering never merges them;
-- each clustering run rewrites this table and the people view puts the pairs to the
-- analyst as "possible relatives / same person".
CREATE TABLE person_pairs (
    person_a    INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    person_b    INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('possible_relative')),
    log10_lr    REAL NOT NULL,           -- the strongest link between their faces
    face_a      INTEGER NOT NULL,
    face_b      INTEGER NOT NULL,
    created_utc TEXT NOT NULL,
    PRIMARY KEY (person_a, person_b),
    CHECK (person_a < person_b)
);
