"""Who may charge where: the idTagInfo verdict, idTags and charge point groups, and the Local
Authorization List (the list as data, and its synchronisation with charge points)."""
