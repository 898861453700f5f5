-- Issue 26: a short reply code in every message (channels without links: answer with the code through an SMS or
-- e-mail gateway), and when a notification was shown to have reached its recipient (notification.delivered).
ALTER TABLE notifications ADD COLUMN reply_code text;          -- set when first sent; valid as long as the link
ALTER TABLE notifications ADD COLUMN delivered_at timestamptz;  -- first evidence of delivery (once)
CREATE INDEX notifications_reply_code ON notifications (reply_code) WHERE reply_code IS NOT NULL;
