//! Bad input: every kind gets a clear message naming the problem, a non-zero exit, no panic and
//! no bundle.
