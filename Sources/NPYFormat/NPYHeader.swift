// NPYFormat: placeholder until the header parser lands.
public enum NPYFormatPlaceholder {}
