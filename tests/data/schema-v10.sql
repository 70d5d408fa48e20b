-- index ix_digest_log_slot_at on digest_log
CREATE INDEX ix_digest_log_slot_at ON digest_log (slot_at);

-- index ix_item_tombstones_deleted_at on item_tombstones
CREATE INDEX ix_item_tombstones_deleted_at ON item_tombstones (deleted_at);

-- index ix_items_first_seen_at on items
CREATE INDEX ix_items_first_seen_at ON items (first_seen_at);

-- index ix_items_published_at on items
CREATE INDEX ix_items_published_at ON items (published_at);

-- index ix_items_story_id on items
CREATE INDEX ix_items_story_id ON items (story_id);

-- index sqlite_autoindex_counters_1 on counters
None;

-- index sqlite_autoindex_digest_log_1 on digest_log
None;

-- index sqlite_autoindex_item_tombstones_1 on item_tombstones
None;

-- index sqlite_autoindex_items_1 on items
None;

-- index sqlite_autoindex_keyword_counts_1 on keyword_counts
None;

-- index sqlite_autoindex_robots_1 on robots
None;

-- index sqlite_autoindex_sources_1 on sources
None;

-- table counters on counters
CREATE TABLE counters (
	name VARCHAR(100) NOT NULL, 
	labels TEXT NOT NULL, 
	value FLOAT NOT NULL, 
	PRIMARY KEY (name, labels)
);

-- table digest_log on digest_log
CREATE TABLE digest_log (
	partner_id VARCHAR(100) NOT NULL, 
	period VARCHAR(40) NOT NULL, 
	slot_at DATETIME NOT NULL, 
	since_at DATETIME NOT NULL, 
	until_at DATETIME NOT NULL, 
	state VARCHAR(20) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME, 
	message_id TEXT, 
	stories INTEGER NOT NULL, 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (partner_id, period)
);

-- table digest_stories on digest_stories
CREATE TABLE digest_stories (
	partner_id VARCHAR(100) NOT NULL, 
	story_id INTEGER NOT NULL, 
	period VARCHAR(40) NOT NULL, 
	text_hash VARCHAR(40) NOT NULL, 
	updated_sent BOOLEAN NOT NULL, 
	PRIMARY KEY (partner_id, story_id)
)
 WITHOUT ROWID

;

-- table item_tombstones on item_tombstones
CREATE TABLE item_tombstones (
	source_id VARCHAR(100) NOT NULL, 
	"key" TEXT NOT NULL, 
	deleted_at DATETIME NOT NULL, 
	PRIMARY KEY (source_id, "key")
);

-- table items on items
CREATE TABLE items (
	id INTEGER NOT NULL, 
	source_id VARCHAR(100) NOT NULL, 
	"key" TEXT NOT NULL, 
	url TEXT, 
	title TEXT NOT NULL, 
	summary_html TEXT NOT NULL, 
	summary_text TEXT NOT NULL, 
	content_html TEXT NOT NULL, 
	author TEXT, 
	categories TEXT NOT NULL, 
	tags TEXT NOT NULL, 
	image TEXT, 
	published_at DATETIME NOT NULL, 
	date_estimated BOOLEAN NOT NULL, 
	updated_at DATETIME, 
	fingerprint VARCHAR(80) NOT NULL, 
	first_seen_at DATETIME NOT NULL, 
	last_seen_at DATETIME NOT NULL, 
	last_changed_at DATETIME NOT NULL, backlog BOOLEAN DEFAULT 0 NOT NULL, districts TEXT DEFAULT '[]' NOT NULL, story_id INTEGER, story_pinned BOOLEAN DEFAULT 0 NOT NULL, story_similarity FLOAT, shingles BLOB, keywords TEXT, story_marks BLOB, story_events TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_items_source_key UNIQUE (source_id, "key"), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

-- table keyword_counts on keyword_counts
CREATE TABLE keyword_counts (
	keyword TEXT NOT NULL, 
	documents INTEGER NOT NULL, 
	PRIMARY KEY (keyword)
);

-- table publish_state on publish_state
CREATE TABLE publish_state (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, "deferred" INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (id)
);

-- table robots on robots
CREATE TABLE robots (
	origin TEXT NOT NULL, 
	fetched_at DATETIME NOT NULL, 
	status INTEGER NOT NULL, 
	body TEXT NOT NULL, 
	PRIMARY KEY (origin)
);

-- table schema_version on schema_version
CREATE TABLE schema_version (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

-- table sources on sources
CREATE TABLE sources (
	id VARCHAR(100) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	etag TEXT, 
	last_modified TEXT, 
	http_status INTEGER, 
	error_count INTEGER NOT NULL, 
	last_error_kind VARCHAR(20), 
	last_error TEXT, 
	last_attempt_at DATETIME, 
	last_success_at DATETIME, 
	next_fetch_at DATETIME, 
	items_last_fetch INTEGER, 
	created_at DATETIME NOT NULL, url TEXT, config_url TEXT, last_new_item_at DATETIME, fetch_seconds FLOAT, boilerplate BLOB, new_item_rate FLOAT, identity TEXT, 
	PRIMARY KEY (id)
);

-- table stories on stories
CREATE TABLE stories (
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

-- table story_state on story_state
CREATE TABLE story_state (
	id INTEGER NOT NULL, 
	generation INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

-- trigger publish_items_delete on items
CREATE TRIGGER publish_items_delete AFTER DELETE ON items BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END;

-- trigger publish_items_insert on items
CREATE TRIGGER publish_items_insert AFTER INSERT ON items BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END;

-- trigger publish_items_update on items
CREATE TRIGGER publish_items_update AFTER UPDATE ON items WHEN (SELECT deferred FROM publish_state WHERE id = 1) = 0 AND (OLD.source_id IS NOT NEW.source_id OR OLD.key IS NOT NEW.key OR OLD.url IS NOT NEW.url OR OLD.title IS NOT NEW.title OR OLD.summary_html IS NOT NEW.summary_html OR OLD.summary_text IS NOT NEW.summary_text OR OLD.content_html IS NOT NEW.content_html OR OLD.author IS NOT NEW.author OR OLD.categories IS NOT NEW.categories OR OLD.tags IS NOT NEW.tags OR OLD.image IS NOT NEW.image OR OLD.published_at IS NOT NEW.published_at OR OLD.date_estimated IS NOT NEW.date_estimated OR OLD.updated_at IS NOT NEW.updated_at OR OLD.fingerprint IS NOT NEW.fingerprint OR OLD.first_seen_at IS NOT NEW.first_seen_at OR OLD.last_changed_at IS NOT NEW.last_changed_at OR OLD.backlog IS NOT NEW.backlog OR OLD.districts IS NOT NEW.districts OR OLD.story_id IS NOT NEW.story_id OR OLD.story_pinned IS NOT NEW.story_pinned OR OLD.story_similarity IS NOT NEW.story_similarity) BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END;
