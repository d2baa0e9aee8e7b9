CREATE TRIGGER sample_touch_updated_at
    BEFORE UPDATE ON genomics.sample
    FOR EACH ROW EXECUTE FUNCTION genomics.touch_updated_at();

CREATE TRIGGER analysis_touch_updated_at
    BEFORE UPDATE ON genomics.analysis
    FOR EACH ROW EXECUTE FUNCTION genomics.touch_updated_at();
