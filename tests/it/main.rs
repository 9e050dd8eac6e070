mod scripts;
mod x {}
