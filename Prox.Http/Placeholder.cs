namespace Prox.Http; internal static class Placeholder {}
