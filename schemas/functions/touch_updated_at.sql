-- Keeps updated_at honest whatever the application forgets to set.
CREATE FUNCTION genomics.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
