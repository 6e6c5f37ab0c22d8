// Gzip: placeholder until the zlib streams land.
import CZlib
public enum GzipPlaceholder {}
