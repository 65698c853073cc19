"""Operations on a whole database: backup, restore and copy to another engine."""
