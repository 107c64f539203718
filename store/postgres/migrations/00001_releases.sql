-- The schema of a Krimstat release store. Every id and key column uses
-- COLLATE "C" so that ORDER BY compares bytes, as Go's string comparison and
-- store.Observation.Key do, whatever the database's default collation.

-- +goose Up
CREATE TABLE releases (
    id        text COLLATE "C" PRIMARY KEY,
    -- seq numbers releases in load order: Releases lists them newest first.
    seq       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    created   text NOT NULL,
    note      text NOT NULL DEFAULT '',
    files     jsonb NOT NULL,
    counts    jsonb NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- current_release holds at most one row, switched by the load transaction.
CREATE TABLE current_release (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    release_id text COLLATE "C" NOT NULL REFERENCES releases (id)
);

-- Metadata are small and read whole, so each item is kept as the JSON the
-- API serves, with the columns that queries filter or sort on beside it.
CREATE TABLE offences (
    release_id text COLLATE "C" NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    id         text COLLATE "C" NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (release_id, id)
);

CREATE TABLE regions (
    release_id text COLLATE "C" NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    id         text COLLATE "C" NOT NULL,
    type       text COLLATE "C" NOT NULL,
    valid_from text COLLATE "C" NOT NULL,
    valid_to   text COLLATE "C" NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (release_id, id)
);

CREATE TABLE measures (
    release_id text COLLATE "C" NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    id         text COLLATE "C" NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (release_id, id)
);

CREATE TABLE sources (
    release_id text COLLATE "C" NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    id         text COLLATE "C" NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (release_id, id)
);

-- ord is the figure's position in (region, date) order, fixed at load.
CREATE TABLE population (
    release_id text COLLATE "C" NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    ord        integer NOT NULL,
    region     text COLLATE "C" NOT NULL,
    date       text COLLATE "C" NOT NULL,
    value      double precision NOT NULL,
    source     text NOT NULL,
    locator    text NOT NULL,
    PRIMARY KEY (release_id, ord)
);

-- Breakdown columns hold '' for "total". period_start and period_end are
-- store.Period.Start and End, so From/To filters compare plain strings.
CREATE TABLE observations (
    release_id           text COLLATE "C" NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    key                  text COLLATE "C" NOT NULL,
    offence              text COLLATE "C" NOT NULL,
    region               text COLLATE "C" NOT NULL,
    measure              text COLLATE "C" NOT NULL,
    period               text NOT NULL,
    period_start         text COLLATE "C" NOT NULL,
    period_end           text COLLATE "C" NOT NULL,
    sex                  text COLLATE "C" NOT NULL,
    age                  text COLLATE "C" NOT NULL,
    citizenship          text COLLATE "C" NOT NULL,
    repatriation_country text COLLATE "C" NOT NULL,
    value                double precision,
    value_text           text NOT NULL,
    flags                text[],
    source               text COLLATE "C" NOT NULL,
    confidence           text NOT NULL,
    locator              text NOT NULL,
    PRIMARY KEY (release_id, key)
);

-- The common filters name an offence and a region, or one of offence, region
-- or measure; ending each index with key lets a page of a one-value filter
-- come out of the index already in order.
CREATE INDEX observations_offence ON observations (release_id, offence, region, key);
CREATE INDEX observations_region ON observations (release_id, region, key);
CREATE INDEX observations_measure ON observations (release_id, measure, key);

-- +goose Down
DROP TABLE observations;
DROP TABLE population;
DROP TABLE sources;
DROP TABLE measures;
DROP TABLE regions;
DROP TABLE offences;
DROP TABLE current_release;
DROP TABLE releases;
